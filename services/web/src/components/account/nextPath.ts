// Where to go after logging in: only a path on this site, so a crafted link such as
// /login?next=https://evil.example cannot send a fresh session somewhere else.

/** The `next` parameter when it is a same-site path ("/jobs?x=1"), else "/". */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//")) return "/";
  // Browsers treat a backslash like a slash ("/\evil.example" is another host), and control
  // characters can hide one; refuse both rather than try to clean them.
  if (/[\\\u0000-\u001f\u007f]/.test(next)) return "/";
  if (next === "/login" || next.startsWith("/login?") || next.startsWith("/login/")) return "/";
  return next;
}
