import assert from "node:assert/strict";
import { test } from "node:test";
import { PROFILE_SLICE_SECONDS, profileSlices } from "./profile-slices.ts";

test("a profile of one slice's length or less is one slice", () => {
  assert.deepEqual(profileSlices(40), [40]);
  assert.deepEqual(profileSlices(PROFILE_SLICE_SECONDS), [PROFILE_SLICE_SECONDS]);
});

test("a longer profile is cut into slices that add up to it, none longer than a slice", () => {
  assert.deepEqual(profileSlices(120), [50, 50, 20]);
  assert.deepEqual(profileSlices(100), [50, 50]);
});

test("no profile, no slice", () => {
  assert.deepEqual(profileSlices(0), []);
});
