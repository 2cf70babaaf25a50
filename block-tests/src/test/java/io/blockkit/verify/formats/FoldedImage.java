package io.blockkit.verify.formats;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A sparse image folded into a few kilobytes: its length (u64), then records of a first 512-byte
 * sector (u32), a sector count (u16) and that many sectors of bytes; everything else is zero. A
 * record cut short keeps the bytes it has; records past the length are clipped. For fuzz targets
 * whose images cannot be small ({@link FuzzTarget#unfold}).
 */
final class FoldedImage {
  static final int SECTOR = 512;

  private FoldedImage() {}

  /** The image {@code folded} stands for, at most {@code maxLength} bytes long. */
  static byte[] unfold(byte[] folded, int maxLength) {
    ByteBuffer in = ByteBuffer.wrap(folded).order(ByteOrder.LITTLE_ENDIAN);
    if (in.remaining() < 8) {
      return new byte[0];
    }
    long length = in.getLong();
    byte[] image = new byte[(int) Math.max(0, Math.min(length, maxLength))];
    while (in.remaining() >= 6) {
      long at = Integer.toUnsignedLong(in.getInt()) * SECTOR;
      int n = Math.min(Short.toUnsignedInt(in.getShort()) * SECTOR, in.remaining());
      if (at < image.length) {
        in.get(in.position(), image, (int) at, (int) Math.min(n, image.length - at));
      }
      in.position(in.position() + n);
    }
    return image;
  }

  /** The folded form of {@code image}: one record per run of sectors that are not all zero. */
  static byte[] fold(byte[] image) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer head = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    out.writeBytes(head.putLong(0, image.length).array());
    int sectors = (image.length + SECTOR - 1) / SECTOR;
    int s = 0;
    while (s < sectors) {
      if (zero(image, s)) {
        s++;
        continue;
      }
      int first = s;
      while (s < sectors && s - first < 0xffff && !zero(image, s)) {
        s++;
      }
      ByteBuffer rec = ByteBuffer.allocate(6).order(ByteOrder.LITTLE_ENDIAN);
      rec.putInt(first).putShort((short) (s - first));
      out.writeBytes(rec.array());
      out.writeBytes(Arrays.copyOfRange(image, first * SECTOR,
          Math.min(image.length, s * SECTOR)));
    }
    return out.toByteArray();
  }

  private static boolean zero(byte[] image, int sector) {
    for (int i = sector * SECTOR; i < Math.min(image.length, (sector + 1) * SECTOR); i++) {
      if (image[i] != 0) {
        return false;
      }
    }
    return true;
  }
}
