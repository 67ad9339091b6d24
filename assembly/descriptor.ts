// Descriptor rules: ^[A-Za-z0-9._-]{1,255}$, matched exactly. A descriptor is a
// name, never a path, so anything outside that set is refused rather than escaped.
import { DescriptorStatus } from "./codes";

export const DESCRIPTOR_MAX: i32 = 255;

let badIndex: i32 = -1;

function allowed(c: u32): bool {
  return (
    (c >= 0x30 && c <= 0x39) || // 0-9
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x61 && c <= 0x7a) || // a-z
    c == 0x2e || c == 0x5f || c == 0x2d // . _ -
  );
}

/**
 * checkDescriptorAt validates len bytes at ptr; on BadChar, descriptorBadIndex()
 * tells where. A forbidden character is reported before excess length, since it
 * is usually the more useful news ("a/b" is a path, not a long name).
 */
export function checkDescriptorAt(ptr: usize, len: i32): DescriptorStatus {
  badIndex = -1;
  if (len <= 0) return DescriptorStatus.Empty;
  for (let i = 0; i < len; i++) {
    if (!allowed(<u32>load<u8>(ptr + <usize>i))) {
      badIndex = i;
      return DescriptorStatus.BadChar;
    }
  }
  if (len > DESCRIPTOR_MAX) return DescriptorStatus.TooLong;
  return DescriptorStatus.Ok;
}

/** Byte index of the first forbidden byte found by the last check, or -1. */
export function descriptorBadIndex(): i32 {
  return badIndex;
}
