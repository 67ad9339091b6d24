import { classify } from "../staleness";
import { Staleness } from "../codes";

describe("classify", () => {
  it("a held lock is active whatever its record says", () => {
    expect(classify(true, false, true, true)).toBe(Staleness.Active);
    expect(classify(false, false, true, true)).toBe(Staleness.Active);
    expect(classify(false, true, true, true)).toBe(Staleness.Active);
    expect(classify(false, false, true, false)).toBe(Staleness.Active);
  });

  it("a held lock whose record names another host is foreign", () => {
    expect(classify(true, false, true, false)).toBe(Staleness.Foreign);
  });

  it("a free lock with a record is stale, wherever the record comes from", () => {
    expect(classify(true, false, false, true)).toBe(Staleness.Stale);
    expect(classify(true, false, false, false)).toBe(Staleness.Stale);
  });

  it("a free empty file is stale (a release that could not unlink)", () => {
    expect(classify(false, true, false, true)).toBe(Staleness.Stale);
  });

  it("a free file with garbage is corrupt", () => {
    expect(classify(false, false, false, true)).toBe(Staleness.Corrupt);
  });
});
