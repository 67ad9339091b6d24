// SHA-256 (FIPS 180-4). It names the files of descriptors too long to be file
// names themselves (adapters/names.ts): such names must be the same in every
// runtime and every version, and must not collide, which CRC-32 cannot promise.

import { OUTPUT, SCRATCH_SIZE } from "./scratch";

/** The number of bytes of a digest. */
export const SHA256_BYTES: i32 = 32;

// Round constants: the first 32 bits of the fractional parts of the cube roots of the first 64 primes.
const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// Initial hash value: the first 32 bits of the fractional parts of the square roots of the first 8 primes.
const H0: usize = memory.data<u32>([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const H: usize = memory.data(8 * 4, 4);
const W: usize = memory.data(64 * 4, 4);
/** The last one or two blocks: the message's tail, the 0x80 marker, zeros and the bit length. */
const TAIL: usize = memory.data(128, 4);

@inline function h(i: i32): u32 {
  return load<u32>(H + (<usize>i << 2));
}

function compress(block: usize): void {
  for (let t = 0; t < 16; t++) store<u32>(W + (<usize>t << 2), bswap<u32>(load<u32>(block + (<usize>t << 2))));
  for (let t = 16; t < 64; t++) {
    const w15 = load<u32>(W + (<usize>(t - 15) << 2));
    const w2 = load<u32>(W + (<usize>(t - 2) << 2));
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
    store<u32>(W + (<usize>t << 2), load<u32>(W + (<usize>(t - 16) << 2)) + s0 + load<u32>(W + (<usize>(t - 7) << 2)) + s1);
  }
  let a = h(0), b = h(1), c = h(2), d = h(3), e = h(4), f = h(5), g = h(6), hh = h(7);
  for (let t = 0; t < 64; t++) {
    const s1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = hh + s1 + ch + load<u32>(K + (<usize>t << 2)) + load<u32>(W + (<usize>t << 2));
    const s0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = s0 + maj;
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  store<u32>(H, h(0) + a);
  store<u32>(H + 4, h(1) + b);
  store<u32>(H + 8, h(2) + c);
  store<u32>(H + 12, h(3) + d);
  store<u32>(H + 16, h(4) + e);
  store<u32>(H + 20, h(5) + f);
  store<u32>(H + 24, h(6) + g);
  store<u32>(H + 28, h(7) + hh);
}

/**
 * sha256Of writes the SHA-256 digest of len bytes at ptr to the output area and
 * returns its length (32), or 0 if len is not a length the scratch area can hold.
 */
export function sha256Of(ptr: usize, len: i32): i32 {
  if (len < 0 || len > SCRATCH_SIZE) return 0;
  memory.copy(H, H0, 32);
  const whole = len & ~63;
  for (let off = 0; off < whole; off += 64) compress(ptr + <usize>off);
  const rest = len - whole;
  memory.fill(TAIL, 0, 128);
  memory.copy(TAIL, ptr + <usize>whole, <usize>rest);
  store<u8>(TAIL + <usize>rest, 0x80);
  // The 64-bit big-endian bit length ends the padding; it needs a second block
  // when fewer than 9 bytes are left after the tail.
  const tailLen: i32 = rest + 9 <= 64 ? 64 : 128;
  store<u64>(TAIL + <usize>(tailLen - 8), bswap<u64>(<u64>len << 3));
  compress(TAIL);
  if (tailLen == 128) compress(TAIL + 64);
  for (let i = 0; i < 8; i++) store<u32>(OUTPUT + (<usize>i << 2), bswap<u32>(h(i)));
  return SHA256_BYTES;
}
