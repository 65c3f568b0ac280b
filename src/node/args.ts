// Command-line parsing on node:util's parseArgs, with typed numeric checks whose errors name the flag.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isFsError, fileError } from '../io/fs-errors.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Thrown for --help: the CLI prints the usage and exits 0. */
export class HelpRequest extends Error {
  constructor(usage: string) {
    super(usage);
    this.name = 'HelpRequest';
  }
}

export function parse(argv: string[], options: NonNullable<ParseArgsConfig['options']>, usage: string) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\. To specify a positional argument.*$/s, '')}\n\n${usage}`);
  }
}

type Raw = string | boolean | (string | boolean)[] | undefined;

type NumCheck = { int?: boolean; min?: number; max?: number; minExclusive?: number; maxExclusive?: number };

export function num(values: Record<string, Raw>, name: string, fallback: number, check: NumCheck = {}): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const bad = (why: string) => new UsageError(`--${name} ${String(raw)}: ${why}`);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value)) throw bad('not a number');
  if (check.int && !Number.isInteger(value)) throw bad('must be a whole number');
  if (check.min !== undefined && value < check.min) throw bad(`must be at least ${check.min}`);
  if (check.max !== undefined && value > check.max) throw bad(`must be at most ${check.max}`);
  if (check.minExclusive !== undefined && value <= check.minExclusive) throw bad(`must be greater than ${check.minExclusive}`);
  if (check.maxExclusive !== undefined && value >= check.maxExclusive) throw bad(`must be less than ${check.maxExclusive}`);
  return value;
}

/** A numeric flag that may be absent: undefined when it is, else checked as `num` checks it. */
export function optionalNum(values: Record<string, Raw>, name: string, check: NumCheck): number | undefined {
  return values[name] === undefined ? undefined : num(values, name, 0, check);
}

export function str(values: Record<string, Raw>, name: string): string | undefined {
  const raw = values[name];
  return typeof raw === 'string' ? raw : undefined;
}

export function list(values: Record<string, Raw>, name: string): string[] {
  const raw = values[name];
  if (raw === undefined) return [];
  return (Array.isArray(raw) ? raw : [raw]).map(String);
}

/** Errors that are the input's fault (or the disk's), printed as one `error:` line without a stack. */
export const EXPECTED_ERRORS = ['UsageError', 'DataError', 'CheckpointError', 'SafetensorsError', 'NoAdapterError', 'MissingWebgpuError', 'DeviceLimitsError', 'TrainingError', 'NonFiniteLossError', 'FileError', 'RunLockError'];

/**
 * What runCli prints for an expected error: `error: ` and its message, on one line (a usage text may follow a
 * UsageError); undefined for an unexpected error, which is printed with its stack. A raw file-system error that
 * no command caught still gets one line with its cause in words.
 */
export function cliErrorLine(error: unknown): string | undefined {
  const shown = isFsError(error) ? fileError(error, error.path ?? 'a file', error.syscall ?? 'use') : error;
  if (!(shown instanceof Error) || !EXPECTED_ERRORS.includes(shown.name)) return undefined;
  if (shown.name === 'UsageError') return `error: ${shown.message}`;
  return `error: ${shown.message.replace(/\s*[\r\n]+\s*/g, ' ')}`;
}

/** Runs a CLI main: prints errors (without a stack for expected ones) and sets the exit code. */
export function runCli(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: Error) => {
      if (error.name === 'HelpRequest') {
        console.log(error.message);
        process.exit(0);
      }
      console.error(cliErrorLine(error) ?? error);
      process.exit(error.name === 'UsageError' ? 2 : 1);
    },
  );
}
