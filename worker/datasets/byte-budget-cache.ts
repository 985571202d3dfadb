/** A cached value a caller holds until release(): while any holder has it, it is never evicted. */
export interface Lease<T> {
  readonly value: T;
  /** Idempotent. After it, the value may be evicted; the holder must not use it any more. */
  release(): void;
}

/** How to load one entry: its size first (cheap), then the value, which takes that many bytes. */
export interface SizedLoader<T> {
  size(): Promise<number>;
  read(): Promise<T>;
}

export interface ByteBudgetCache<T> {
  /**
   * The entry for `key`, loaded with `loader` if it is not there (concurrent callers share one
   * load). Rejects with tooLarge(bytes, maxBytes) when the entry alone is over the budget, or with
   * what the loader threw (a failed load is not cached).
   */
  acquire(key: string, loader: SizedLoader<T>): Promise<Lease<T>>;
  /** Bytes reserved by loads under way plus bytes of the entries kept: never above maxBytes. */
  readonly heldBytes: number;
}

interface Entry<T> {
  key: string;
  value: Promise<T>;
  /** Reserved once sized, 0 before. */
  bytes: number;
  refs: number;
  loaded: boolean;
}

/**
 * Values of known size under a byte budget, counted before they are loaded: a load first learns
 * its size, then evicts idle entries (least recently used first) to make room, or waits (FIFO)
 * until holders release enough, so what is held never passes the budget. Entries in use are never
 * evicted: dropping one would not free its memory while a holder still reads it.
 */
export function createByteBudgetCache<T>(maxBytes: number, tooLarge: (bytes: number, maxBytes: number) => Error): ByteBudgetCache<T> {
  /** In order of use, least recent first. */
  const entries = new Map<string, Entry<T>>();
  const waiting: { entry: Entry<T>; bytes: number; admit: () => void }[] = [];
  let held = 0;

  /**
   * Frees room for `bytes` by evicting idle entries, least recently used first; whether it fits. When
   * even evicting every idle entry would not make room, it evicts none: the load waits for holders,
   * and the idle entries stay useful meanwhile.
   */
  const makeRoom = (bytes: number): boolean => {
    if (held + bytes <= maxBytes) return true;
    let idle = 0;
    for (const entry of entries.values()) if (entry.refs === 0 && entry.loaded) idle += entry.bytes;
    if (held - idle + bytes > maxBytes) return false;
    for (const [key, entry] of entries) {
      if (held + bytes <= maxBytes) break;
      if (entry.refs > 0 || !entry.loaded) continue;
      entries.delete(key);
      held -= entry.bytes;
    }
    return held + bytes <= maxBytes;
  };

  /** Admits waiting loads in order while they fit (one that does not fit holds back those after it). */
  const admitWaiting = (): void => {
    while (waiting.length > 0 && makeRoom(waiting[0]!.bytes)) {
      const { entry, bytes, admit } = waiting.shift()!;
      entry.bytes = bytes;
      held += bytes;
      admit();
    }
  };

  const reserve = (entry: Entry<T>, bytes: number): Promise<void> =>
    new Promise((admit) => {
      waiting.push({ entry, bytes, admit });
      admitWaiting();
    });

  const load = (entry: Entry<T>, loader: SizedLoader<T>): Promise<T> =>
    (async () => {
      const bytes = await loader.size();
      if (bytes > maxBytes) throw tooLarge(bytes, maxBytes);
      await reserve(entry, bytes);
      const value = await loader.read();
      entry.loaded = true;
      return value;
    })().catch((err: unknown) => {
      if (entries.get(entry.key) === entry) entries.delete(entry.key);
      held -= entry.bytes;
      entry.bytes = 0;
      admitWaiting();
      throw err;
    });

  return {
    async acquire(key, loader) {
      let entry = entries.get(key);
      if (entry) entries.delete(key);
      else {
        // The load settles asynchronously, so the entry exists before its value is first read.
        entry = { key, bytes: 0, refs: 0, loaded: false } as Entry<T>;
        entry.value = load(entry, loader);
      }
      // Most recently used last.
      entries.set(key, entry);
      entry.refs++;
      let value: T;
      try {
        value = await entry.value;
      } catch (err) {
        entry.refs--;
        throw err;
      }
      const leased = entry;
      let released = false;
      return {
        value,
        release: () => {
          if (released) return;
          released = true;
          leased.refs--;
          admitWaiting();
        },
      };
    },
    get heldBytes() {
      return held;
    },
  };
}
