import { DECODE_AMPLIFICATION } from '../wire.js';

/** Input a reader will not read: malformed, or asking for more than its budget. */
export class Unreadable extends Error {}

/**
 * What decoding one input may build, in the wire's byte units: at most `cap`
 * (the reader's maxBytes), and at most DECODE_AMPLIFICATION times the input
 * read so far, whatever its records declare. One budget per input, shared by
 * every decoder that reads a part of it, so the bound holds for the whole
 * input and never per record.
 */
export class DecodeBudget {
  #allowed = 0;
  #spent = 0;

  constructor(private readonly cap: number) {}

  /** `units` of input were read and measured. */
  read(units: number): void {
    this.#allowed = Math.min(this.cap, this.#allowed + units * DECODE_AMPLIFICATION);
  }

  /** About to build `units` worth of value. */
  spend(units: number): void {
    this.#spent += units;
    if (this.#spent > this.#allowed) {
      throw new Unreadable(
        `it decodes to more than its own size allows (over ${this.#allowed} bytes; maxBytes is ${this.cap})`,
      );
    }
  }
}
