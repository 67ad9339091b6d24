import { slotOrder, effectiveCpus, holdersForCpus, MAX_HOLDERS } from "../slots";
import { INPUT, OUTPUT } from "../scratch";

function order(max: i32, preferred: i32): string {
  const n = slotOrder(max, preferred);
  let s = "";
  for (let i = 0; i < n; i++) s += (i ? "," : "") + load<u16>(OUTPUT + <usize>(i << 1)).toString();
  return s;
}

function clearBusy(): void {
  memory.fill(INPUT, 0, 64);
}

describe("slotOrder", () => {
  it("tries slots in order when nothing is preferred or busy", () => {
    clearBusy();
    expect(order(4, -1)).toBe("0,1,2,3");
  });

  it("tries the preferred slot first", () => {
    clearBusy();
    expect(order(4, 2)).toBe("2,0,1,3");
  });

  it("ignores a preferred slot out of range", () => {
    clearBusy();
    expect(order(3, 7)).toBe("0,1,2");
  });

  it("puts known-busy slots last, still tried", () => {
    clearBusy();
    store<u8>(INPUT + 0, 1);
    store<u8>(INPUT + 2, 1);
    expect(order(4, -1)).toBe("1,3,0,2");
    expect(order(4, 2)).toBe("2,1,3,0");
  });

  it("refuses sizes out of range", () => {
    expect(slotOrder(0, -1)).toBe(0);
    expect(slotOrder(MAX_HOLDERS + 1, -1)).toBe(0);
  });
});

describe("CPU math", () => {
  it("caps the affinity count by a cgroup quota, rounding up", () => {
    expect(effectiveCpus(8, 0, 0)).toBe(8);
    expect(effectiveCpus(8, 150000, 100000)).toBe(2);
    expect(effectiveCpus(2, 800000, 100000)).toBe(2);
    expect(effectiveCpus(0, 0, 0)).toBe(1);
  });

  it("subtracts excluded CPUs but never goes below 1", () => {
    expect(holdersForCpus(8, 2)).toBe(6);
    expect(holdersForCpus(2, 5)).toBe(1);
    expect(holdersForCpus(4, 0)).toBe(4);
    expect(holdersForCpus(4, -3)).toBe(4);
  });
});
