// Types for source-hash.mjs, which tests import.
export const SOURCE_DIRS: string[];
export function sourceHash(root: string): string;
