package io.blockkit.api.options;

/** The value types an option can have. */
public enum OptionType {
  /** A byte count: digits with an optional k/M/G/T/P/E suffix (powers of 1024), e.g. {@code 64M}. */
  SIZE,
  /** {@code on}/{@code off}/{@code true}/{@code false}. */
  BOOL,
  /** A signed 64-bit decimal integer. */
  INT,
  /** Free text. */
  STRING,
  /** One of the spec's {@link OptionSpec#choices()}. */
  ENUM,
  /** A UUID in its 8-4-4-4-12 text form. */
  UUID
}
