/**
 * `node dist/deploy/bench/profile_summary.js <file.cpuprofile> [top]`: where a service's
 * CPU went, from a V8 profile (`--cpu-prof`): self time per function and per package.
 */
import {readFileSync} from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: {functionName: string; url: string; lineNumber: number};
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** node_modules/<pkg>, our own dist/<path>, or node: internals. */
function owner(url: string): string {
  if (!url) return '(native / idle / gc)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  const ours = /dist\/(.+?)\.js$/.exec(url);
  if (ours) return `agora:${ours[1].split('/').slice(0, 3).join('/')}`;
  return url.startsWith('node:') ? url : url.replace(/^file:\/\//, '');
}

/** Seconds the profiled thread was running code (idle time excluded). */
export function busySeconds(file: string): number {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const idle = new Set(
    profile.nodes
      .filter(n => n.callFrame.functionName === '(idle)')
      .map(n => n.id),
  );
  let us = 0;
  profile.samples.forEach((id, i) => {
    if (!idle.has(id)) us += profile.timeDeltas[i] ?? 0;
  });
  return us / 1e6;
}

export function summarize(file: string, top = 20): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map(n => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
  );
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byOwner = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const {functionName, url, lineNumber} = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${owner(url)}:${lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    byOwner.set(owner(url), (byOwner.get(owner(url)) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const lines = [
    `${file}: ${(total / 1e6).toFixed(2)} s sampled`,
    '',
    'self time by package:',
  ];
  for (const [k, us] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`  ${pct(us)}  ${k}`);
  lines.push('', 'self time by function:');
  for (const [k, us] of [...byFunction]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top))
    lines.push(`  ${pct(us)}  ${k}`);
  return lines.join('\n');
}

if (process.argv[2])
  console.log(summarize(process.argv[2], Number(process.argv[3] ?? 20)));
