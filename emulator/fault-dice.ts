// The dice that decide which request gets an injected fault. With a seed (faults.seed, --fault-seed)
// the sequence of draws is the same on every run, so a failing fault run can be replayed; without
// one it is Math.random. Setting a seed (again) through the admin API restarts the sequence.

/** mulberry32: a small 32-bit generator, good enough to spread faults, never for anything secret. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultDice {
  private seed: number | null = null;
  private draw: () => number = Math.random;

  /** A number in [0, 1) from the sequence of `seed` (restarted when the seed changes). */
  roll(seed: number | null): number {
    if (seed !== this.seed) this.reseed(seed);
    return this.draw();
  }

  /** Starts the sequence of `seed` from its beginning (null: Math.random). */
  reseed(seed: number | null): void {
    this.seed = seed;
    this.draw = seed === null ? Math.random : mulberry32(seed);
  }
}
