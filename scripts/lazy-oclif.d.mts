// Types for the parts of lazy-oclif.mjs that tests import.
export const LAZY: Record<string, string[]>;
export function lazify(code: string, spec: string, load?: (spec: string) => string): string;
