/** This package's version (kept equal to package.json's by a unit test); it tags the hollow-node image. */
export const PACKAGE_VERSION = "0.1.0";
