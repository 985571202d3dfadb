/**
 * CPU profiles of wrangler dev's Worker isolate over its inspector (the Chrome DevTools protocol):
 * the pipeline benchmark uses them to say where workerd's CPU goes (the job's DO, the backtests,
 * the rest of the consumer) without instrumenting the Worker, whose clock stands still during CPU
 * work on Cloudflare anyway. Local only: wrangler dev's inspector proxy on 127.0.0.1.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Profiler {
  /** Stops sampling and returns the profile. */
  stop(): Promise<CpuProfile>;
}

/** wrangler dev's inspector proxy refuses a WebSocket without an Origin it knows. */
const DEVTOOLS_ORIGIN = "https://devtools.devprod.cloudflare.dev";
const CALL_TIMEOUT_MS = 30_000;

/** Starts sampling the Worker's isolate every `intervalUs` microseconds. */
export async function startProfiler(inspectorPort: number, intervalUs = 500): Promise<Profiler> {
  // Node's WebSocket (undici) takes headers as an extension of the browser API.
  const Socket = WebSocket as unknown as new (url: string, init: { headers: Record<string, string> }) => WebSocket;
  const ws = new Socket(`ws://127.0.0.1:${inspectorPort}/ws`, { headers: { Origin: DEVTOOLS_ORIGIN } });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let seq = 0;
  ws.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id!);
    if (message.error) waiter.reject(new Error(`inspector: ${message.error.message}`));
    else waiter.resolve(message.result);
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`could not connect to the inspector on 127.0.0.1:${inspectorPort}`));
  });
  const call = <T>(method: string, params: object = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = ++seq;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`inspector: ${method} timed out`));
      }, CALL_TIMEOUT_MS);
      pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: intervalUs });
  await call("Profiler.start");
  return {
    async stop() {
      try {
        return (await call<{ profile: CpuProfile }>("Profiler.stop")).profile;
      } finally {
        ws.close();
      }
    },
  };
}

/** A part of the Worker's time: the samples with one of these functions on their stack. */
export interface Part {
  name: string;
  functions: readonly string[];
}

/**
 * Milliseconds of CPU per part: each sample goes to the first part (in the order given) that has
 * one of its functions on the sample's stack; samples in none go to "other", idle ones are left out.
 */
export function cpuByPart(profile: CpuProfile, parts: readonly Part[]): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Bit k set: part k has a function on the node's stack.
  const masks = new Map<number, number>();
  const maskOf = (id: number): number => {
    const known = masks.get(id);
    if (known !== undefined) return known;
    const up = parent.get(id);
    const name = byId.get(id)!.callFrame.functionName;
    let mask = up === undefined ? 0 : maskOf(up);
    parts.forEach((p, k) => {
      if (p.functions.includes(name)) mask |= 1 << k;
    });
    masks.set(id, mask);
    return mask;
  };
  const ms = new Map<string, number>([...parts.map((p): [string, number] => [p.name, 0]), ["other", 0]]);
  profile.samples.forEach((id, i) => {
    if (byId.get(id)!.callFrame.functionName === "(idle)") return;
    const mask = maskOf(id);
    const part = mask === 0 ? "other" : parts[31 - Math.clz32(mask & -mask)]!.name;
    ms.set(part, ms.get(part)! + (profile.timeDeltas[i + 1] ?? 0) / 1000);
  });
  return ms;
}
