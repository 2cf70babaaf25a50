package io.blockkit.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.blockkit.testkit.ChainModel;
import org.junit.jupiter.api.Test;

/** The chain suite's oracle against depths and bytes worked out by hand. */
class ChainModelTest {
  private static byte[] filled(int n, int value) {
    byte[] b = new byte[n];
    java.util.Arrays.fill(b, (byte) value);
    return b;
  }

  @Test
  void aPartialWriteKeepsTheBackingsBytesAroundItAndAllocatesItsCluster() {
    ChainModel m = new ChainModel(4, filled(8, 7)); // a base of two 4-byte clusters
    ChainModel.Layer top = m.overlay(8);
    top.write(5, new byte[] {9});
    assertArrayEquals(new byte[] {7, 7, 7, 7, 7, 9, 7, 7}, top.content());
    assertEquals(1, m.depth(3), "cluster 0 is the base's");
    assertEquals(0, m.depth(4), "cluster 1 is the top's, all of it");
    assertEquals(0, m.depth(7));
  }

  @Test
  void pastAShorterBackingTheLayerAboveDecidesAndReadsZeros() {
    ChainModel m = new ChainModel(4, filled(6, 7)); // 6 bytes: ends inside cluster 1
    ChainModel.Layer mid = m.overlay(12);
    ChainModel.Layer top = m.overlay(16);
    assertArrayEquals(new byte[] {7, 7, 7, 7, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        top.content());
    assertEquals(2, m.depth(5), "inside the base");
    assertEquals(1, m.depth(6), "past the base's end, below the middle's");
    assertEquals(0, m.depth(12), "past the middle's end");
    mid.writeZeroes(0, 4);
    top.write(13, new byte[] {5});
    assertEquals(1, m.depth(0), "zeroed in the middle");
    assertEquals(0, m.depth(12), "written in the top");
    assertArrayEquals(new byte[] {0, 0, 0, 0, 7, 7, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0},
        top.content(), "the middle's zeros show through the top");
    assertEquals(3, m.depthCount());
  }
}
