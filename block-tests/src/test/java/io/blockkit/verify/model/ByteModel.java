package io.blockkit.verify.model;

import java.util.Arrays;
import java.util.BitSet;

/**
 * What an image must contain: exact bytes, plus the ranges a discard made uncertain (they may read
 * as their old bytes or as zeros, as {@link io.blockkit.api.BlockDevice#discard} allows).
 */
final class ByteModel {
  private final byte[] bytes;
  private final BitSet maybeZero = new BitSet();

  ByteModel(int size) {
    bytes = new byte[size];
  }

  int size() {
    return bytes.length;
  }

  void write(long offset, byte[] data) {
    System.arraycopy(data, 0, bytes, (int) offset, data.length);
    maybeZero.clear((int) offset, (int) offset + data.length);
  }

  void zero(long offset, long length) {
    Arrays.fill(bytes, (int) offset, (int) (offset + length), (byte) 0);
    maybeZero.clear((int) offset, (int) (offset + length));
  }

  void discard(long offset, long length) {
    maybeZero.set((int) offset, (int) (offset + length));
  }

  /** Describes the first byte of {@code actual} (read at {@code offset}) the model forbids, or null. */
  String explainMismatch(long offset, byte[] actual) {
    for (int i = 0; i < actual.length; i++) {
      int at = (int) offset + i;
      byte expected = bytes[at];
      if (actual[i] != expected && !(actual[i] == 0 && maybeZero.get(at))) {
        return "byte " + at + " is " + actual[i] + ", expected " + expected
            + (maybeZero.get(at) ? " or 0 (discarded)" : "");
      }
    }
    return null;
  }
}
