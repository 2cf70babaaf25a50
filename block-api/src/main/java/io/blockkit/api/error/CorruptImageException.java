package io.blockkit.api.error;

/**
 * The image's metadata is inconsistent: a header field, a table entry or a data reference breaks a
 * rule of the format. The message names the file, the structure, its offset, the value found and
 * what was expected.
 */
public class CorruptImageException extends BlockException {
  private static final long serialVersionUID = 1L;
  private final String location;
  private final String structure;
  private final long offset;

  /**
   * @param location the image file
   * @param structure the field or table, e.g. {@code "header.block_size"}
   * @param offset byte offset of the structure in the file, or -1 when not meaningful
   * @param found the value found, as text
   * @param expected the rule it breaks, as text
   */
  public CorruptImageException(String location, String structure, long offset, String found,
      String expected) {
    super("Corrupt image '" + location + "': " + structure
        + (offset >= 0 ? " (at offset " + offset + ")" : "") + " is " + found + ", expected "
        + expected);
    this.location = location;
    this.structure = structure;
    this.offset = offset;
  }

  /** For findings that do not fit the field/value shape. */
  public CorruptImageException(String location, String message) {
    super("Corrupt image '" + location + "': " + message);
    this.location = location;
    this.structure = null;
    this.offset = -1;
  }

  public String location() {
    return location;
  }

  /** The field or structure at fault, or null. */
  public String structure() {
    return structure;
  }

  public long offset() {
    return offset;
  }
}
