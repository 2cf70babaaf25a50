/**
 * The conformance kit for driver authors: {@link io.blockkit.testkit.BlockDriverConformanceTest}
 * is the JUnit 5 base class every driver's test extends. Its contract: a subclass supplies a
 * driver and a way to make a fresh device of a given size; the kit runs every shared test the
 * device's capabilities allow and skips (never fails) the rest; randomised tests print their seed.
 * This package is published in the main jar of {@code block-tests} so that plugins outside this
 * repository can depend on it.
 */
package io.blockkit.testkit;
