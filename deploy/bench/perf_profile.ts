/**
 * CPU-time profiles of the services with Linux perf (Debian's linux-perf): where the CPU
 * went while one scenario was measured, split by process, by kind of work (our code and
 * each package, V8's builtins, garbage collector and JIT compiler, the kernel, libc) and
 * by function.
 *
 * Why perf rather than V8's --cpu-prof: V8's profiler ticks on wall-clock time, so a
 * thread preempted inside a system call (nine busy processes share two cores here) is
 * counted as busy in that call. On this machine it blamed writev for 14 % of Order's time
 * where strace counted about four writev calls of ~7 µs per order. perf's cpu-clock event
 * samples only while a thread runs, and it sees every thread (V8's GC and compiler
 * threads included). The services run with --perf-basic-prof so JIT-compiled JavaScript
 * frames have names.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';

const FREQUENCY = 999;

/** Whether `perf record` works here (installed, and the kernel allows it). */
export function perfAvailable(): boolean {
  const probe = spawnSync(
    'perf',
    ['record', '-e', 'cpu-clock', '-o', '/dev/null', '--', 'true'],
    {stdio: 'ignore'},
  );
  return probe.status === 0;
}

/** Samples process `pid` (all its threads) into `file` until stop() is called. */
export function startPerf(pid: number, file: string): {stop(): Promise<void>} {
  const child: ChildProcess = spawn(
    'perf',
    [
      'record',
      '-e',
      'cpu-clock',
      '-F',
      String(FREQUENCY),
      '-o',
      file,
      '-p',
      String(pid),
    ],
    {stdio: 'ignore'},
  );
  const exited = new Promise<void>(resolve =>
    child.once('exit', () => resolve()),
  );
  return {
    async stop() {
      // perf writes its file on SIGINT.
      child.kill('SIGINT');
      await exited;
    },
  };
}

interface Sample {
  samples: number;
  dso: string;
  symbol: string;
  kernel: boolean;
}

/** The kind of work a sampled function is. */
export function kindOf(s: {
  dso: string;
  symbol: string;
  kernel: boolean;
}): string {
  if (s.kernel) return 'kernel (system calls, network, scheduling)';
  const js = /^JS:\S*\s+(\S+)/.exec(s.symbol);
  if (js) {
    const url = js[1];
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (pkg) return `JS ${pkg[1]}`;
    const ours = /\/dist\/(services\/[^/]+|deploy)\//.exec(url);
    if (ours) return `JS agora ${ours[1]}`;
    return url.startsWith('node:') ? 'JS node internals' : 'JS other';
  }
  const sym = s.symbol;
  if (
    /Scaveng|Marking|Mark[A-Z]|Sweep|Evacuat|Compactor|RememberedSet|Heap::|IteratePointers|RecordWrite|MinorM|GCTracer/.test(
      sym,
    )
  )
    return 'V8 garbage collector';
  if (
    /compiler::|Compile|Maglev|maglev|Turbofan|Deoptimiz|TranslatedState|Baseline|Parser|Scanner|Bytecode/.test(
      sym,
    )
  )
    return 'V8 JIT compiler';
  if (sym.startsWith('Builtins_'))
    return 'V8 builtins (property access, calls, promises)';
  if (/libc|libstdc/.test(s.dso)) return 'libc (malloc, memcpy)';
  if (/node$/.test(s.dso) || sym.startsWith('v8::') || sym.startsWith('node::'))
    return 'node / V8 runtime (C++)';
  return 'other native';
}

function readSamples(file: string): Sample[] {
  const report = spawnSync(
    'perf',
    [
      'report',
      '-i',
      file,
      '--no-children',
      '--sort',
      'dso,sym',
      '-n',
      '-g',
      'none',
      '--stdio',
      '-t',
      '|',
    ],
    {encoding: 'utf8', maxBuffer: 256 * 1024 * 1024},
  );
  if (report.status !== 0)
    throw new Error(`perf report failed: ${report.stderr}`);
  const samples: Sample[] = [];
  for (const line of report.stdout.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    // overhead|samples|dso|[k] symbol
    const [, count, dso, sym] = line.split('|');
    const m = /\[(.)\]\s+(.*)$/.exec(sym ?? '');
    if (!count || !m) continue;
    samples.push({
      samples: Number(count.trim()),
      dso: (dso ?? '').trim(),
      kernel: m[1] === 'k',
      symbol: m[2].trim(),
    });
  }
  return samples;
}

function tally<T>(items: T[], key: (t: T) => string, weight: (t: T) => number) {
  const out = new Map<string, number>();
  for (const item of items)
    out.set(key(item), (out.get(key(item)) ?? 0) + weight(item));
  return [...out].sort((a, b) => b[1] - a[1]);
}

/** A readable summary: CPU seconds per service, then where the busiest one spent it. */
export function summarizePerf(files: Record<string, string>, top = 12): string {
  const byService = Object.entries(files)
    .map(([name, file]) => {
      const samples = readSamples(file);
      return {name, samples, total: samples.reduce((a, s) => a + s.samples, 0)};
    })
    .sort((a, b) => b.total - a.total);
  const lines = [
    'CPU seconds sampled by service (perf cpu-clock, every thread):',
  ];
  for (const {name, total} of byService)
    lines.push(`  ${name.padEnd(10)} ${(total / FREQUENCY).toFixed(2)} s`);
  const busiest = byService[0];
  if (!busiest || busiest.total === 0) return lines.join('\n');
  const pct = (n: number) =>
    `${((100 * n) / busiest.total).toFixed(1).padStart(5)}%`;
  lines.push('', `busiest service: ${busiest.name}; its CPU by kind of work:`);
  for (const [kind, n] of tally(busiest.samples, kindOf, s => s.samples).slice(
    0,
    top,
  ))
    lines.push(`  ${pct(n)}  ${kind}`);
  lines.push('', `${busiest.name}: hottest functions (self time):`);
  for (const [sym, n] of tally(
    busiest.samples,
    s => s.symbol.slice(0, 110),
    s => s.samples,
  ).slice(0, top))
    lines.push(`  ${pct(n)}  ${sym}`);
  return lines.join('\n');
}
