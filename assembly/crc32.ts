// CRC-32 as in IEEE 802.3, zlib and PNG (reflected polynomial 0xEDB88320).

const TABLE: usize = memory.data(256 * 4, 4);
let tableReady = false;

function buildTable(): void {
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    store<u32>(TABLE + (<usize>n << 2), c);
  }
  tableReady = true;
}

/** crc32Of returns the CRC-32 of len bytes at ptr. */
export function crc32Of(ptr: usize, len: i32): u32 {
  if (!tableReady) buildTable();
  let c: u32 = 0xffffffff;
  for (let i = 0; i < len; i++) {
    const b = <u32>load<u8>(ptr + <usize>i);
    c = load<u32>(TABLE + (<usize>((c ^ b) & 0xff) << 2)) ^ (c >>> 8);
  }
  return c ^ 0xffffffff;
}
