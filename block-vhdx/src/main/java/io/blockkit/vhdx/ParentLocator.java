package io.blockkit.vhdx;

import io.blockkit.api.error.CorruptImageException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The parent locator metadata item of a differencing image: a locator type and key-value pairs
 * (UTF-16LE, no NULs). The specification's VHDX type names a VHDX parent by identity ({@code
 * parent_linkage}: the parent's DataWriteGuid) and by paths; blockkit's own type names a parent of
 * another format (a raw image) by {@code relative_path} and {@code parent_format}.
 */
record ParentLocator(UUID type, Map<String, String> entries) {
  static final UUID VHDX_TYPE = UUID.fromString("b04aefb7-d19e-4a81-b789-25b8e9445913");
  /** blockkit's locator type for parents that are not VHDX images (no DataWriteGuid to link). */
  static final UUID BLOCKKIT_TYPE = UUID.fromString("6c6b6f62-6b63-4974-a5ce-6e74666d7421");
  static final String LINKAGE = "parent_linkage";
  static final String LINKAGE2 = "parent_linkage2";
  static final String RELATIVE_PATH = "relative_path";
  static final String VOLUME_PATH = "volume_path";
  static final String ABSOLUTE_PATH = "absolute_win32_path";
  static final String PARENT_FORMAT = "parent_format";
  private static final int HEADER = 20;
  private static final int ENTRY = 12;

  ParentLocator {
    entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
  }

  /**
   * Parses the item's bytes.
   *
   * @param itemOffset the item's file offset, for messages
   * @throws CorruptImageException when an entry lies outside the item, is empty or odd-sized, or
   *     a key repeats
   */
  static ParentLocator parse(ByteBuffer b, String location, long itemOffset)
      throws CorruptImageException {
    if (b.limit() < HEADER) {
      throw new CorruptImageException(location, "parent locator", itemOffset, b.limit()
          + " bytes long", "at least " + HEADER);
    }
    UUID type = Guids.get(b, 0);
    int count = Short.toUnsignedInt(b.getShort(18));
    if (HEADER + (long) ENTRY * count > b.limit()) {
      throw new CorruptImageException(location, "parent locator key-value count",
          itemOffset + 18, Integer.toString(count), "at most " + (b.limit() - HEADER) / ENTRY
              + " entries in a " + b.limit() + "-byte item");
    }
    Map<String, String> entries = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      int at = HEADER + ENTRY * i;
      String key = text(b, b.getInt(at), b.getShort(at + 8), location, itemOffset, i, "key");
      String value = text(b, b.getInt(at + 4), b.getShort(at + 10), location, itemOffset, i,
          "value");
      if (entries.put(key, value) != null) {
        throw new CorruptImageException(location, "parent locator entry " + i, itemOffset + at,
            "a second '" + key + "'", "unique keys");
      }
    }
    return new ParentLocator(type, entries);
  }

  private static String text(ByteBuffer b, int offset, short length, String location,
      long itemOffset, int entry, String what) throws CorruptImageException {
    long off = Integer.toUnsignedLong(offset);
    int len = Short.toUnsignedInt(length);
    if (off == 0 || len == 0 || len % 2 != 0 || off + len > b.limit()) {
      throw new CorruptImageException(location, "parent locator entry " + entry + " " + what,
          itemOffset + HEADER + (long) ENTRY * entry, "at " + off + ", " + len + " bytes",
          "a non-empty UTF-16 string inside the " + b.limit() + "-byte item");
    }
    byte[] bytes = new byte[len];
    b.get((int) off, bytes);
    return new String(bytes, StandardCharsets.UTF_16LE);
  }

  /** The item's bytes. */
  ByteBuffer encode() {
    List<byte[]> texts = new ArrayList<>();
    for (Map.Entry<String, String> e : entries.entrySet()) {
      texts.add(e.getKey().getBytes(StandardCharsets.UTF_16LE));
      texts.add(e.getValue().getBytes(StandardCharsets.UTF_16LE));
    }
    int size = HEADER + ENTRY * entries.size();
    for (byte[] t : texts) {
      size += t.length;
    }
    ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    Guids.put(b, 0, type);
    b.putShort(18, (short) entries.size());
    int data = HEADER + ENTRY * entries.size();
    for (int i = 0; i < entries.size(); i++) {
      byte[] key = texts.get(2 * i);
      byte[] value = texts.get(2 * i + 1);
      int at = HEADER + ENTRY * i;
      b.putInt(at, data);
      b.put(data, key);
      data += key.length;
      b.putInt(at + 4, data);
      b.put(data, value);
      data += value.length;
      b.putShort(at + 8, (short) key.length);
      b.putShort(at + 10, (short) value.length);
    }
    return b;
  }

  /** The parent's identities this image accepts (parent_linkage, parent_linkage2). */
  List<UUID> linkages() {
    List<UUID> out = new ArrayList<>();
    for (String key : List.of(LINKAGE, LINKAGE2)) {
      UUID u = Guids.parseBraced(entries.get(key));
      if (u != null) {
        out.add(u);
      }
    }
    return out;
  }

  /**
   * The names to try for the parent, in the specification's order, as paths this system can
   * open: {@code relative_path} with its backslashes made slashes (resolved next to the image);
   * then {@code absolute_win32_path} only when it is a POSIX absolute path. A {@code volume_path}
   * and a drive-letter or UNC path name a Windows volume that does not exist here, and are
   * skipped.
   */
  List<String> candidates() {
    List<String> out = new ArrayList<>();
    String relative = entries.get(RELATIVE_PATH);
    if (relative != null) {
      out.add(relative.replace('\\', '/'));
    }
    String absolute = entries.get(ABSOLUTE_PATH);
    if (absolute != null && absolute.startsWith("/")) {
      out.add(absolute);
    }
    return out;
  }
}
