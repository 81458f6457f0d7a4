/** @module Process entry of the `cachefront` command. */
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    // serve keeps running until a signal; other commands end here.
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
