/**
 * Typed driver options: {@link io.blockkit.api.options.OptionSpec} describes a key,
 * {@link io.blockkit.api.options.Options} holds checked values, {@link
 * io.blockkit.api.options.OptionStrings} splits qemu-style {@code key=value,key2=value2} strings
 * ({@code ,,} is a literal comma) and {@link io.blockkit.api.options.Sizes} reads and prints sizes
 * with k/M/G/T/P/E suffixes, powers of 1024.
 */
package io.blockkit.api.options;
