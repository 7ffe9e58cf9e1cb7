// Guards two things the benchmark's targets rest on: the packed privilege set that ClonedSecurityRole
// keeps in state (lossless, canonical, small), and the per-process token cache in front of the
// credential (one token request per scope however many callers ask at once; failures not kept;
// renewed before expiry).
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/identity";
import { cachingCredential, tokenRefreshMarginMs } from "../../lib/credentials";
import {
  packPrivileges,
  parsePrivilegeEntry,
  privilegeDifferences,
  privilegeDigest,
  unpackPrivileges,
} from "../../dynamic-providers/shared/privileges";

const depths = ["Basic", "Local", "Deep", "Global"];
const tables = Array.from({ length: 147 }, (_, index) => `Table${index}Entity`);
const rights = ["Create", "Read", "Write", "Delete", "Append", "AppendTo", "Assign", "Share"];
/** 1,176 entries shaped like a copy of System Administrator. */
const systemAdministratorLike = tables.flatMap((table, index) => rights.map((right) => `prv${right}${table}:${depths[index % 4]}`));

describe("packed privilege sets", () => {
  test("unpack gives back the sorted, de-duplicated entries", () => {
    const shuffled = [...systemAdministratorLike].reverse().concat(systemAdministratorLike.slice(0, 10));
    const packed = packPrivileges(shuffled);
    expect(packed.startsWith("gz1:")).toBe(true);
    expect(unpackPrivileges(packed)).toEqual([...systemAdministratorLike].sort());
    expect(packPrivileges(systemAdministratorLike)).toBe(packed);
    expect(privilegeDigest(unpackPrivileges(packed))).toBe(privilegeDigest([...systemAdministratorLike].sort()));
  });

  test("a copy of System Administrator packs well under the 16 KB a resource may take in state", () => {
    expect(systemAdministratorLike).toHaveLength(1176);
    const plain = JSON.stringify(systemAdministratorLike).length;
    const packed = packPrivileges(systemAdministratorLike).length;
    expect(packed).toBeLessThan(8 * 1024);
    expect(packed * 3).toBeLessThan(plain);
  });

  test("an empty set round-trips, and another format is refused with a message", () => {
    expect(unpackPrivileges(packPrivileges([]))).toEqual([]);
    expect(() => unpackPrivileges("prvReadAccount:Global")).toThrow(/gz1:/);
  });

  test("entries split at their last colon; differences name what was lost and gained", () => {
    expect(parsePrivilegeEntry("prvReadAccount:Global")).toEqual({ name: "prvReadAccount", depth: "Global" });
    expect(privilegeDifferences(["a:Global", "b:Basic"], ["b:Basic", "c:Local"])).toEqual(["-a:Global", "+c:Local"]);
  });
});

/** A credential that counts its calls and answers when told to. */
function countingCredential(expiresInMs = 3_600_000) {
  const calls: string[] = [];
  let fail = false;
  const credential: TokenCredential = {
    async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken | null> {
      const scope = [scopes].flat().join(" ");
      calls.push(scope);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (fail) throw new Error("refused");
      return { token: `token for ${scope} #${calls.length}`, expiresOnTimestamp: Date.now() + expiresInMs };
    },
  };
  return { credential, calls, failNext: (value: boolean) => (fail = value) };
}

describe("the per-process token cache", () => {
  test("callers asking at once share one request per scope; the second scope waits for the first", async () => {
    const inner = countingCredential();
    const cached = cachingCredential(inner.credential);
    const tokens = await Promise.all([
      ...Array.from({ length: 20 }, () => cached.getToken("https://org.crm.dynamics.com/.default")),
      cached.getToken("https://graph.microsoft.com/.default"),
      cached.getToken("https://graph.microsoft.com/.default"),
    ]);
    expect(inner.calls).toEqual(["https://org.crm.dynamics.com/.default", "https://graph.microsoft.com/.default"]);
    expect(new Set(tokens.slice(0, 20).map((token) => token?.token)).size).toBe(1);
    await cached.getToken("https://org.crm.dynamics.com/.default");
    expect(inner.calls).toHaveLength(2);
  });

  test("a failed request is not kept: the next call asks again", async () => {
    const inner = countingCredential();
    const cached = cachingCredential(inner.credential);
    inner.failNext(true);
    await expect(cached.getToken("scope/.default")).rejects.toThrow("refused");
    inner.failNext(false);
    await expect(cached.getToken("scope/.default")).resolves.toMatchObject({ token: "token for scope/.default #2" });
  });

  test("a token is renewed before it expires, and a claims challenge always reaches the credential", async () => {
    let now = 1_000_000;
    const inner = countingCredential(10 * 60 * 1000);
    const cached = cachingCredential(inner.credential, () => now);
    await cached.getToken("scope/.default");
    await cached.getToken("scope/.default");
    expect(inner.calls).toHaveLength(1);
    // The fake credential stamps expiry from the real clock: move the cache's clock past the margin.
    now = Date.now() + 10 * 60 * 1000 - tokenRefreshMarginMs + 1;
    await cached.getToken("scope/.default");
    expect(inner.calls).toHaveLength(2);
    await cached.getToken("scope/.default", { claims: "{}" } as GetTokenOptions);
    expect(inner.calls).toHaveLength(3);
  });
});
