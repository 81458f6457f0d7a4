/** @module Process entry of the `cachefront` command. */
import { main } from './main.js';

/** Ends the process soon after the command is done, even if a client library left a timer behind. */
function finish(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 200).unref();
}

main(process.argv.slice(2)).then(finish, (error: unknown) => {
  console.error(error);
  finish(1);
});
