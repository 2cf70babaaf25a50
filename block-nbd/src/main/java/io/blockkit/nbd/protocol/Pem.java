package io.blockkit.nbd.protocol;

import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads X.509 certificates and private keys from PEM files, as GnuTLS-based peers (qemu, nbdkit,
 * libnbd) store them: certificates in {@code CERTIFICATE} blocks, keys as PKCS#8 ({@code PRIVATE
 * KEY}) or PKCS#1 RSA ({@code RSA PRIVATE KEY}).
 */
public final class Pem {
  private static final Pattern BLOCK = Pattern.compile(
      "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*?)-----END \\1-----");
  /** DER of rsaEncryption's AlgorithmIdentifier: SEQUENCE { OID 1.2.840.113549.1.1.1, NULL }. */
  private static final byte[] RSA_ALGORITHM = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48,
      (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};

  private Pem() {}

  /**
   * The certificates of {@code file}, in order (a chain: the leaf first).
   *
   * @throws IOException when the file cannot be read or holds no valid certificate, naming it
   */
  public static List<X509Certificate> certificates(Path file) throws IOException {
    List<X509Certificate> out = new ArrayList<>();
    for (Block b : blocks(file)) {
      if (b.type().equals("CERTIFICATE")) {
        try {
          out.add((X509Certificate) CertificateFactory.getInstance("X.509")
              .generateCertificate(new ByteArrayInputStream(b.der())));
        } catch (GeneralSecurityException e) {
          throw new BlockException("Certificate file '" + file + "' holds a certificate that "
              + "cannot be read: " + e.getMessage(), e);
        }
      }
    }
    if (out.isEmpty()) {
      throw new BlockException("Certificate file '" + file
          + "' holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    return out;
  }

  /**
   * The private key of {@code file}.
   *
   * @throws IOException when the file cannot be read or holds no supported private key, naming it
   */
  public static PrivateKey privateKey(Path file) throws IOException {
    for (Block b : blocks(file)) {
      switch (b.type()) {
        case "PRIVATE KEY":
          return pkcs8(file, b.der());
        case "RSA PRIVATE KEY":
          return pkcs8(file, wrapPkcs1(b.der()));
        case "ENCRYPTED PRIVATE KEY":
          throw new BlockException("Key file '" + file + "' is encrypted; give an unencrypted "
              + "key (openssl pkcs8 -topk8 -nocrypt)");
        case "EC PRIVATE KEY":
          throw new BlockException("Key file '" + file + "' holds an EC key in SEC1 form; "
              + "convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)");
        default:
          break;
      }
    }
    throw new BlockException("Key file '" + file
        + "' holds no PEM private key (-----BEGIN PRIVATE KEY-----)");
  }

  private record Block(String type, byte[] der) {}

  private static List<Block> blocks(Path file) throws IOException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.ISO_8859_1);
    } catch (NoSuchFileException e) {
      throw new ImageAccessException(file.toString(), Reason.NOT_FOUND, e);
    }
    List<Block> out = new ArrayList<>();
    Matcher m = BLOCK.matcher(text);
    while (m.find()) {
      try {
        out.add(new Block(m.group(1), Base64.getMimeDecoder().decode(m.group(2))));
      } catch (IllegalArgumentException e) {
        throw new BlockException("PEM file '" + file + "' has a " + m.group(1)
            + " block that is not base64", e);
      }
    }
    return out;
  }

  private static PrivateKey pkcs8(Path file, byte[] der) throws BlockException {
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
    for (String algorithm : new String[] {"RSA", "EC", "EdDSA", "RSASSA-PSS", "DSA"}) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(spec);
      } catch (GeneralSecurityException e) {
        // try the next algorithm
      }
    }
    throw new BlockException("Key file '" + file
        + "' holds a private key of an unknown or unsupported algorithm");
  }

  /** PKCS#8 PrivateKeyInfo around a PKCS#1 RSAPrivateKey: version 0, rsaEncryption, the key. */
  private static byte[] wrapPkcs1(byte[] pkcs1) {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.writeBytes(new byte[] {0x02, 0x01, 0x00});
    body.writeBytes(RSA_ALGORITHM);
    body.writeBytes(derHeader(0x04, pkcs1.length));
    body.writeBytes(pkcs1);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(derHeader(0x30, body.size()));
    out.writeBytes(body.toByteArray());
    return out.toByteArray();
  }

  private static byte[] derHeader(int tag, int length) {
    if (length < 0x80) {
      return new byte[] {(byte) tag, (byte) length};
    }
    int bytes = length > 0xffffff ? 4 : length > 0xffff ? 3 : length > 0xff ? 2 : 1;
    byte[] h = new byte[2 + bytes];
    h[0] = (byte) tag;
    h[1] = (byte) (0x80 | bytes);
    for (int i = 0; i < bytes; i++) {
      h[2 + i] = (byte) (length >>> (8 * (bytes - 1 - i)));
    }
    return h;
  }
}
