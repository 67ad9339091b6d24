// Helpers shared by the specs: put ASCII text into the core's input area, and
// feed an encoded record back in for decoding.
import { INPUT, OUTPUT } from "../scratch";

export function putAscii(s: string, at: i32 = 0): i32 {
  for (let i = 0; i < s.length; i++) store<u8>(INPUT + <usize>(at + i), <u8>s.charCodeAt(i));
  return s.length;
}

export function outputToInput(len: i32): void {
  memory.copy(INPUT, OUTPUT, <usize>len);
}
