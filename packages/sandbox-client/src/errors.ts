/**
 * No sandbox can run the code: none registered, none reachable, or all full. The message names
 * what to install or start; the worker fails the run with `server_error` and this message.
 */
export class SandboxUnavailableError extends Error {
  override name = 'SandboxUnavailableError'
}

/** What `pnpm start` and the README tell an operator when no sandbox host is registered. */
export const NO_SANDBOX_MESSAGE =
  'No code_interpreter sandbox is running. `pnpm start` runs one when python3 (with venv) and bubblewrap are installed ' +
  '(Debian/Ubuntu: apt-get install -y python3 python3-venv bubblewrap), once its Python environment is installed ' +
  '(first start: about a minute, logged); in production run services/sandbox (infra/).'
