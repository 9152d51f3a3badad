// What an experiment is (for the registry in index.ts and the `baton experiment` command), and
// helpers to read its options.
import { LocalUsageError } from '../../src/transport-abstraction/errors.js';
import type { ExperimentOutput } from './report.js';

/** An experiment's own command-line option, e.g. { name: 'clients', flag: '--clients <n>', ... }. */
export interface ExperimentOption {
  /** The key the value is read under (commander's camelCase of the flag). */
  readonly name: string;
  readonly flag: string;
  readonly description: string;
  readonly default: string;
}

export interface ExperimentContext {
  /** Seeds to average over (--seeds). */
  readonly seeds: number;
  /** The experiment's own options, as typed (strings). */
  readonly options: Readonly<Record<string, string>>;
  /** A progress line for long runs (the command writes it to stderr). */
  readonly progress: (message: string) => void;
}

export interface Experiment {
  readonly name: string;
  /** One line for `baton experiment --help`. */
  readonly summary: string;
  /** What it runs and what it measures, for `baton experiment NAME --help`. */
  readonly description: string;
  readonly defaultSeeds: number;
  readonly options: readonly ExperimentOption[];
  /** Runs the experiment; throws if the run itself failed. */
  run(context: ExperimentContext): Promise<ExperimentOutput> | ExperimentOutput;
}

/** A whole number ≥ min from an option's text, or LocalUsageError naming the option. */
export function integerOption(context: ExperimentContext, name: string, min = 1): number {
  const text = context.options[name] ?? '';
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new LocalUsageError(`--${name} must be a whole number ≥ ${min}, not "${text}"`);
  return value;
}
