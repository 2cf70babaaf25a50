package io.blockkit.api;

/**
 * The backing image an image's metadata names, as {@code qemu-img info} reports it.
 *
 * @param filename the name as stored in the image (may be relative to the image's folder)
 * @param fullFilename where that name points, resolved as qemu does, for opening
 * @param format the format stored with the name, or null when the image records none
 */
public record BackingLink(String filename, String fullFilename, String format) {
  public BackingLink {
    java.util.Objects.requireNonNull(filename, "filename");
    java.util.Objects.requireNonNull(fullFilename, "fullFilename");
  }
}
