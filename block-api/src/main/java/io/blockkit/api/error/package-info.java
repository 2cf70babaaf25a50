/**
 * The exceptions of blockkit. All are {@link java.io.IOException}s rooted in {@link
 * io.blockkit.api.error.BlockException}; {@link java.lang.IllegalArgumentException} is kept for
 * programming mistakes of the caller (negative lengths, null arguments), never for bad input.
 */
package io.blockkit.api.error;
