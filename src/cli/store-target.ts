/** @module How `cachefront serve`'s primary tells its workers which store it resolved. */

/** The environment variable that carries the resolved store to the workers. */
export const STORE_ENV = 'CACHEFRONT_RESOLVED_STORE';
/** The store target that means the embedded in-process store (otherwise a Redis URL). */
export const EMBEDDED = 'embedded';
