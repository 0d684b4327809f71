/**
 * The event half of NativeSocket: `on` / `once` / `off` / `emit` as EventEmitter has them, for
 * the five events a socket has (data, end, error, close, drain), each in a field of its own. An
 * EventEmitter keeps a listener table object per instance and an array per event with two
 * listeners; every idle tunnel holds two sockets, so that was a few hundred bytes per tunnel.
 *
 * Same rules as EventEmitter where callers depend on them: listeners run in the order added,
 * with `this` the emitter; a listener added or removed during an emit does not change that emit;
 * `off` removes the most recently added match; a `once` listener is removed before it runs and
 * `off` finds it by the original function. Other event names work too (a Map, made on first use).
 */

// biome-ignore lint/suspicious/noExplicitAny: each event has its own arguments, as in EventEmitter
export type Listener = (...args: any[]) => void;
type Slot = Listener | readonly Listener[] | undefined;

/** What `once` registers: the caller's function, unwrapped by `off` and `listeners`. */
interface OnceWrapper extends Listener {
  listener: Listener;
}

function original(l: Listener): Listener {
  return (l as Partial<OnceWrapper>).listener ?? l;
}

export class SocketEvents {
  #data: Slot;
  #end: Slot;
  #error: Slot;
  #close: Slot;
  #drain: Slot;
  #other: Map<string | symbol, Slot> | null = null;

  /** Told after a listener is added (NativeSocket delivers held bytes to a new `data` listener). */
  protected listenerAdded(_event: string | symbol): void {}

  on(event: string | symbol, listener: Listener): this {
    const cur = this.#get(event);
    this.#set(
      event,
      cur === undefined ? listener : typeof cur === "function" ? [cur, listener] : [...cur, listener],
    );
    this.listenerAdded(event);
    return this;
  }

  addListener(event: string | symbol, listener: Listener): this {
    return this.on(event, listener);
  }

  once(event: string | symbol, listener: Listener): this {
    const self = this;
    const wrapper = function (this: unknown, ...args: unknown[]): void {
      self.off(event, wrapper);
      listener.apply(this, args);
    } as OnceWrapper;
    wrapper.listener = listener;
    return this.on(event, wrapper);
  }

  off(event: string | symbol, listener: Listener): this {
    const cur = this.#get(event);
    if (cur === undefined) return this;
    if (typeof cur === "function") {
      if (cur === listener || original(cur) === listener) this.#set(event, undefined);
      return this;
    }
    for (let i = cur.length - 1; i >= 0; i--) {
      const l = cur[i] as Listener;
      if (l !== listener && original(l) !== listener) continue;
      const rest = [...cur.slice(0, i), ...cur.slice(i + 1)];
      this.#set(event, rest.length === 1 ? rest[0] : rest);
      break;
    }
    return this;
  }

  removeListener(event: string | symbol, listener: Listener): this {
    return this.off(event, listener);
  }

  removeAllListeners(event?: string | symbol): this {
    if (event !== undefined) {
      this.#set(event, undefined);
      return this;
    }
    this.#data = this.#end = this.#error = this.#close = this.#drain = undefined;
    this.#other = null;
    return this;
  }

  // biome-ignore lint/complexity/noBannedTypes: EventEmitter's own return type
  listeners(event: string | symbol): Function[] {
    const cur = this.#get(event);
    if (cur === undefined) return [];
    return typeof cur === "function" ? [original(cur)] : cur.map(original);
  }

  listenerCount(event: string | symbol): number {
    const cur = this.#get(event);
    return cur === undefined ? 0 : typeof cur === "function" ? 1 : cur.length;
  }

  /** Calls the listeners of `event` in order; false when there are none. */
  emit(event: string | symbol, ...args: unknown[]): boolean {
    const cur = this.#get(event);
    if (cur === undefined) return false;
    if (typeof cur === "function") cur.apply(this, args);
    else for (const l of cur) l.apply(this, args); // arrays are never changed in place
    return true;
  }

  #get(event: string | symbol): Slot {
    switch (event) {
      case "data":
        return this.#data;
      case "end":
        return this.#end;
      case "error":
        return this.#error;
      case "close":
        return this.#close;
      case "drain":
        return this.#drain;
      default:
        return this.#other?.get(event);
    }
  }

  #set(event: string | symbol, slot: Slot): void {
    switch (event) {
      case "data":
        this.#data = slot;
        return;
      case "end":
        this.#end = slot;
        return;
      case "error":
        this.#error = slot;
        return;
      case "close":
        this.#close = slot;
        return;
      case "drain":
        this.#drain = slot;
        return;
      default:
        if (slot === undefined) {
          this.#other?.delete(event);
          return;
        }
        this.#other ??= new Map();
        this.#other.set(event, slot);
    }
  }
}
