package io.blockkit.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDriver;
import io.blockkit.api.ProbeInput;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The signature table, with images built by hand from each format's description: every entry
 * matches its own signature, and a byte off (or a raw disk that merely looks alike) is not matched.
 */
class KnownFormatsTest {

  static byte[] withAscii(byte[] img, int offset, String s) {
    byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
    System.arraycopy(b, 0, img, offset, b.length);
    return img;
  }

  private static byte[] head(String magic) {
    return withAscii(new byte[4096], 0, magic);
  }

  private static byte[] qcow(int version) {
    byte[] b = head("QFI\u00fb");
    ByteBuffer.wrap(b).putInt(4, version);
    return b;
  }

  /** Writes a valid fixed-VHD footer into the last 512 bytes of {@code img}. */
  static void putFixedVhdFooter(byte[] img) {
    int f = img.length - 512;
    ByteBuffer b = ByteBuffer.wrap(img, f, 512).slice();
    withAscii(img, f, "conectix");
    b.putInt(8, 2); // features: reserved bit
    b.putInt(12, 0x00010000); // version 1.0
    b.putLong(16, -1L); // data offset: none (fixed)
    withAscii(img, f + 28, "test");
    b.putLong(40, img.length - 512L); // original size
    b.putLong(48, img.length - 512L); // current size
    b.putInt(60, 2); // disk type: fixed
    long sum = 0;
    for (int i = 0; i < 512; i++) {
      sum += img[f + i] & 0xff;
    }
    b.putInt(64, (int) ~sum);
  }

  private static byte[] parallels(String magic, int version) {
    byte[] b = head(magic);
    ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(16, version);
    return b;
  }

  private static byte[] dmg() {
    byte[] b = new byte[8192];
    ByteBuffer t = ByteBuffer.wrap(b, 8192 - 512, 512).slice();
    t.putInt(0, 0x6b6f6c79);
    t.putInt(4, 4);
    t.putInt(8, 512);
    return b;
  }

  private static byte[] iso() {
    byte[] b = new byte[0x8800];
    b[0x8000] = 1; // primary volume descriptor
    withAscii(b, 0x8001, "CD001");
    b[0x8006] = 1;
    return b;
  }

  private static byte[] bochs() {
    return withAscii(withAscii(head("Bochs Virtual HD Image\0"), 32, "Redolog\0"), 48,
        "Growing\0");
  }

  static Stream<Arguments> samples() {
    return Stream.of(
        Arguments.of("qcow2", qcow(2)),
        Arguments.of("qcow2", qcow(3)),
        Arguments.of("qcow", qcow(1)),
        Arguments.of("qed", head("QED\0")),
        Arguments.of("vmdk", head("KDMV")),
        Arguments.of("vmdk", head("COWD")),
        Arguments.of("vmdk", head("# Disk DescriptorFile\nversion=1\nCID=fffffffe\n")),
        Arguments.of("vmdk", head("# a\r\n   \r\n  \nversion=3\r\ncreateType=\"vmfs\"\n")),
        Arguments.of("vpc", head("conectix")),
        Arguments.of("vhdx", head("vhdxfile")),
        Arguments.of("parallels", parallels("WithoutFreeSpace", 2)),
        Arguments.of("parallels", parallels("WithouFreSpacExt", 2)),
        Arguments.of("luks", head("LUKS\u00ba\u00be\0\1")),
        Arguments.of("dmg", dmg()),
        Arguments.of("bochs", bochs()),
        Arguments.of("cloop", head("#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0\n")),
        Arguments.of("iso9660", iso()));
  }

  private static Optional<String> recognise(byte[] img) {
    int n = Math.min(img.length, BlockDriver.PROBE_SIZE);
    int t = Math.min(img.length, BlockDriver.PROBE_TAIL_SIZE);
    ProbeInput in = new ProbeInput(ByteBuffer.wrap(img, 0, n).slice(),
        ByteBuffer.wrap(img, img.length - t, t).slice(), img.length, "image");
    return KnownFormats.recognise(in, Set.of("raw", "vdi")).map(KnownFormats.Signature::name);
  }

  @ParameterizedTest(name = "{0} #{index}")
  @MethodSource("samples")
  void eachSignatureIsRecognised(String format, byte[] img) {
    assertEquals(Optional.of(format), recognise(img));
  }

  @ParameterizedTest(name = "{0} #{index}")
  @MethodSource("samples")
  void anInstalledDriverOfThatNameTakesTheEntryOver(String format, byte[] img) {
    KnownFormats.Signature s = KnownFormats.all().stream()
        .filter(e -> e.name().equals(format)).findFirst().orElseThrow();
    for (String name : s.names()) {
      ProbeInput in = new ProbeInput(ByteBuffer.wrap(img), img.length, "image");
      assertEquals(Optional.empty(),
          KnownFormats.recognise(in, Set.of(name)).filter(r -> r.name().equals(format)));
    }
  }

  @Test
  void fixedVhdFooterIsRecognisedOnlyWhenItsChecksumAndSizeHold() {
    byte[] img = new byte[1 << 20];
    putFixedVhdFooter(img);
    assertEquals(Optional.of("vpc"), recognise(img));

    byte[] badSum = img.clone();
    badSum[img.length - 512 + 64] ^= 1;
    assertEquals(Optional.empty(), recognise(badSum), "checksum off by one");

    byte[] longer = new byte[img.length + 512]; // footer no longer matches the size before it
    System.arraycopy(img, 0, longer, 512, img.length);
    assertEquals(Optional.empty(), recognise(longer), "size inconsistent with the file");

    byte[] justCookie = new byte[1 << 20]; // a raw disk that merely ends with the word
    withAscii(justCookie, justCookie.length - 512, "conectix");
    assertEquals(Optional.empty(), recognise(justCookie));
  }

  @Test
  void vmdkDescriptorFollowsQemusLineRules() {
    assertEquals(Optional.empty(), recognise(head("\nversion=1\n")), "an empty line first");
    assertEquals(Optional.empty(), recognise(head("  x\nversion=1\n")), "text after spaces");
    assertEquals(Optional.empty(), recognise(head("version=4\n")));
    assertEquals(Optional.empty(), recognise(head("version=1 \n")));
    assertEquals(Optional.empty(), recognise(head("version=1")), "no end of line in the image");
    byte[] late = new byte[4096];
    for (int i = 0; i < 600; i += 10) {
      withAscii(late, i, "#########\n");
    }
    withAscii(late, 600, "version=1\n");
    assertEquals(Optional.empty(), recognise(late), "QEMU sees only the first 512 bytes");
  }

  @Test
  void nearMissesStayUnrecognised() {
    assertEquals(Optional.empty(), recognise(qcow(0)));
    assertEquals(Optional.empty(), recognise(head("QFI\u00fa\0\0\0\3")));
    assertEquals(Optional.empty(), recognise(parallels("WithoutFreeSpace", 3)));
    assertEquals(Optional.empty(), recognise(head("Bochs Virtual HD Image\0")), "no redolog");
    byte[] iso = iso();
    iso[0x8003] = 'X';
    assertEquals(Optional.empty(), recognise(iso));
    byte[] dmg = dmg();
    dmg[dmg.length - 512 + 10] = 0; // header size no longer 512
    assertEquals(Optional.empty(), recognise(dmg));
  }

  @Test
  void zerosRandomBytesAndTruncatedInputsAreNotRecognised() {
    Random r = new Random(7);
    for (int n : new int[] {0, 1, 3, 7, 511, 512, 4096, 40000}) {
      assertEquals(Optional.empty(), recognise(new byte[n]), "zeros " + n);
      byte[] junk = new byte[n];
      r.nextBytes(junk);
      assertEquals(Optional.empty(), recognise(junk), "random " + n);
    }
    samples().forEach(a -> {
      byte[] img = (byte[]) a.get()[1];
      for (int n = 0; n < Math.min(img.length, 48); n++) {
        byte[] cut = java.util.Arrays.copyOf(img, n);
        assertTrue(recognise(cut).isEmpty() || n >= 4, "prefix " + n + " of " + a.get()[0]);
      }
    });
  }
}
