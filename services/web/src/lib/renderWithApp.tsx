// Renders a component under test inside what the app gives every page: a fresh query cache
// (no retries, so a refused request shows at once), a router and the session.
// testSupport first: the API client must be created with its Request shim in place.
import "./testSupport";
import type { ReactElement } from "react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { SessionProvider } from "../auth/session";

export function renderWithApp(ui: ReactElement, entry = "/") {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[entry]}>
        <SessionProvider>{ui}</SessionProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}
