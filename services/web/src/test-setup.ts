import "@testing-library/jest-dom/vitest";
import { configure } from "@testing-library/react";

// findBy*/waitFor give up after 1 s by default: too short on a loaded CI machine, where a
// render after a stubbed fetch can take longer. A real failure still fails, only later.
configure({ asyncUtilTimeout: 10_000 });
