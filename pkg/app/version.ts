/** The product version, reported at /version and in logs; kept equal to package.json. */
export const VERSION = 'v0.1.0';
