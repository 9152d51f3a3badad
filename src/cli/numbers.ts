// Parse-time checks for the numeric options of every subcommand (commander argParsers). A bad
// value is refused while the command line is read, before any socket is bound or file opened, so
// the command prints one line and exits 2 (main.ts maps commander's errors to 2).
//
// Whole numbers are decimal digits only: "1.5", "1e3", "0x10", "" and values past the bound are
// refused (Number() would take "1e300" as a whole number and "" as 0).
import { InvalidArgumentError } from 'commander';
import { LocalUsageError } from '../transport-abstraction/errors.js';
import { validateTakeoverNumber } from '../transport-abstraction/transport.js';

/** A whole number in min..max. */
export function wholeNumber(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) throw new InvalidArgumentError(`it must be a whole number from ${min} to ${max}.`);
    return value;
  };
}

/** A positive decimal number (fractions allowed) up to max. */
export function positiveNumber(max: number): (text: string) => number {
  return (text) => {
    const value = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(text) ? Number(text) : NaN;
    if (!(value > 0 && value <= max)) throw new InvalidArgumentError(`it must be a number above 0 and at most ${max}.`);
    return value;
  };
}

/** A UDP or transport port; `min` 0 where 0 means "any free port". */
export const port = (min: 0 | 1) => wholeNumber(min, 65_535);

/** The transport's bounds on packet sizing (576: the IPv4 minimum reassembly size). */
export const mtu = wholeNumber(576, 65_535);

/** A retransmission-timeout floor in ms (up to a minute). */
export const rtoMin = wholeNumber(1, 60_000);

/** A takeover request number, by the contract's one rule (validateTakeoverNumber). */
export function takeoverNumber(text: string): number {
  try {
    return validateTakeoverNumber(text, 'the takeover number');
  } catch (error) {
    if (error instanceof LocalUsageError) throw new InvalidArgumentError(`${error.message}.`);
    throw error;
  }
}

/** A comma-separated list of positive numbers up to max; the text is kept as typed. */
export function positiveNumberList(max: number): (text: string) => string {
  const one = positiveNumber(max);
  return (text) => {
    try {
      for (const item of text.split(',')) one(item);
    } catch {
      throw new InvalidArgumentError(`it must be a comma-separated list of numbers above 0 and at most ${max}.`);
    }
    return text;
  };
}

/**
 * How `baton experiment` checks an experiment's own option (by its name) as the line is read:
 * those that are no count have their own bounds; any other `<n>` is a count from 1; anything else
 * (a list of sizes, a word) is left to the experiment. Undefined: no check here.
 */
export function experimentOption(name: string, flag: string): ((text: string) => number | string) | undefined {
  const own = EXPERIMENT_OPTIONS[name];
  if (own !== undefined) return own;
  return flag.endsWith('<n>') ? COUNT : undefined;
}

const COUNT = wholeNumber(1, 100_000_000);

const EXPERIMENT_OPTIONS: Readonly<Record<string, (text: string) => number | string>> = {
  mtu,
  rtoMin,
  /** failover: SIGKILL rounds of the real-process half, 0 skips it. */
  realRounds: wholeNumber(0, 10_000),
  /** failover: RTTs of the taker path in ms. */
  rtts: positiveNumberList(60_000),
};
