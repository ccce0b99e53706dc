/**
 * `npm run trace -- ORDER_ID` (or a 32-hex trace id): prints the traces of one order as
 * trees of spans, read from Jaeger's HTTP API (AGORA_JAEGER_URL, default the one
 * `npm start` runs). Order tags every call about an order with its id, so placing it,
 * reading it back and refunding it each show up, oldest first.
 *
 * Spans reach Jaeger in batches about half a second after a call ends, so a search that
 * finds nothing is repeated for a few seconds before giving up.
 */
import {
  JAEGER_QUERY,
  jaegerTrace,
  jaegerTracesOfOrder,
  type JaegerTrace,
} from '../../services/common/process/jaeger.js';
import {formatTraceTree} from './trace_tree.js';

const WAIT_MS = 8_000;

async function find(id: string): Promise<JaegerTrace[]> {
  if (/^[0-9a-f]{32}$/i.test(id)) {
    const t = await jaegerTrace(id.toLowerCase());
    return t ? [t] : [];
  }
  return jaegerTracesOfOrder(id);
}

async function main(): Promise<number> {
  const id = process.argv[2];
  if (!id || process.argv.length > 3 || id.startsWith('-')) {
    console.error('usage: npm run trace -- ORDER_ID   (or a 32-hex trace id)');
    return 2;
  }
  let traces: JaegerTrace[] = [];
  const deadline = Date.now() + WAIT_MS;
  try {
    for (;;) {
      traces = await find(id);
      if (traces.length > 0 || Date.now() > deadline) break;
      await new Promise(r => setTimeout(r, 500));
    }
  } catch (err) {
    const cause = err instanceof Error ? (err.cause ?? err) : err;
    console.error(
      `trace: cannot reach Jaeger at ${JAEGER_QUERY} (${String(cause)}); is npm start running, with tracing on?`,
    );
    return 1;
  }
  if (traces.length === 0) {
    console.error(
      `trace: Jaeger at ${JAEGER_QUERY} has no trace of ${id} (it keeps traces in memory since it started; calls made while tracing was off or before Jaeger ran are not there)`,
    );
    return 1;
  }
  console.log(traces.map(formatTraceTree).join('\n\n'));
  return 0;
}

process.exitCode = await main();
