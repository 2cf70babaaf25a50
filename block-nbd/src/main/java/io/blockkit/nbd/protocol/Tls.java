package io.blockkit.nbd.protocol;

import io.blockkit.api.error.BlockException;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * TLS set-up with X.509 certificates from PEM files, the way qemu and nbdkit take them, using the
 * JDK's TLS (1.3 and 1.2).
 */
public final class Tls {
  private static final char[] NO_PASSWORD = new char[0];
  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

  private Tls() {}

  /**
   * A server's context.
   *
   * @param certificate PEM file with the server's certificate (and any intermediate ones)
   * @param key PEM file with its private key
   * @param clientCa PEM file of the authority whose certificates clients must present, or null
   *     to accept clients without certificates
   * @throws IOException when a file cannot be read or holds no usable certificate or key
   */
  public static SSLContext serverContext(Path certificate, Path key, Path clientCa)
      throws IOException {
    return context(keyManagers(certificate, key),
        clientCa == null ? null : trustManagers(clientCa));
  }

  /**
   * A client's context.
   *
   * @param ca PEM file of the authority that signed the server's certificate, or null for the
   *     JDK's default trusted authorities
   * @param certificate the client's certificate for servers that ask for one, or null
   * @param key its private key (with {@code certificate})
   * @param verifyPeer false to accept any server certificate (encryption without
   *     authentication)
   * @throws IOException when a PEM file cannot be read or the TLS context cannot be made
   */
  public static SSLContext clientContext(Path ca, Path certificate, Path key, boolean verifyPeer)
      throws IOException {
    KeyManager[] km = certificate == null ? null : keyManagers(certificate, key);
    TrustManager[] tm = !verifyPeer ? new TrustManager[] {new TrustAll()}
        : ca == null ? null : trustManagers(ca);
    return context(km, tm);
  }

  /** An engine for one accepted connection. */
  public static SSLEngine serverEngine(SSLContext context, boolean requireClientCertificate) {
    SSLEngine engine = context.createSSLEngine();
    engine.setUseClientMode(false);
    engine.setEnabledProtocols(PROTOCOLS);
    engine.setNeedClientAuth(requireClientCertificate);
    return engine;
  }

  /**
   * An engine for a connection to {@code host}, checking that the server's certificate names it
   * when {@code host} is not null.
   */
  public static SSLEngine clientEngine(SSLContext context, String host, int port) {
    SSLEngine engine = host == null ? context.createSSLEngine()
        : context.createSSLEngine(host, port);
    engine.setUseClientMode(true);
    engine.setEnabledProtocols(PROTOCOLS);
    if (host != null) {
      SSLParameters p = engine.getSSLParameters();
      p.setEndpointIdentificationAlgorithm("HTTPS");
      engine.setSSLParameters(p);
    }
    return engine;
  }

  /**
   * A failure's text for users: the innermost message, without the JDK's exception class names,
   * and for an unknown authority a hint at what to give.
   */
  public static String describe(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    String m = c.getMessage() != null ? c.getMessage()
        : t.getMessage() != null ? t.getMessage() : "connection lost";
    m = m.replaceAll("\\b(?:[a-z_][a-z0-9_]*\\.)+[A-Z]\\w*(?:Exception|Error):\\s*", "");
    if (m.contains("unable to find valid certification path")) {
      return "the certificate is not signed by a trusted authority";
    }
    return m;
  }

  private static SSLContext context(KeyManager[] km, TrustManager[] tm) throws BlockException {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(km, tm, null);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new BlockException("Cannot set up TLS: " + e.getMessage(), e);
    }
  }

  private static KeyManager[] keyManagers(Path certificate, Path key) throws IOException {
    if (key == null) {
      throw new BlockException("A TLS certificate needs its private key");
    }
    List<X509Certificate> chain = Pem.certificates(certificate);
    PrivateKey pk = Pem.privateKey(key);
    String certAlgorithm = chain.get(0).getPublicKey().getAlgorithm();
    if (List.of("RSA", "EC").contains(certAlgorithm) && !certAlgorithm.equals(pk.getAlgorithm())) {
      throw new BlockException("Key file '" + key + "' does not belong to certificate '"
          + certificate + "' (" + pk.getAlgorithm() + " key, " + certAlgorithm
          + " certificate)");
    }
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry("key", pk, NO_PASSWORD, chain.toArray(new X509Certificate[0]));
      KeyManagerFactory f = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      f.init(ks, NO_PASSWORD);
      return f.getKeyManagers();
    } catch (GeneralSecurityException e) {
      throw new BlockException("Cannot use certificate '" + certificate + "' with key '" + key
          + "': " + e.getMessage(), e);
    }
  }

  private static TrustManager[] trustManagers(Path ca) throws IOException {
    List<X509Certificate> cas = Pem.certificates(ca);
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      for (int i = 0; i < cas.size(); i++) {
        ks.setCertificateEntry("ca" + i, cas.get(i));
      }
      TrustManagerFactory f =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      f.init(ks);
      return f.getTrustManagers();
    } catch (GeneralSecurityException e) {
      throw new BlockException("Cannot use CA certificate '" + ca + "': " + e.getMessage(), e);
    }
  }

  /** Accepts every certificate: for {@code tls-verify-peer=off}. */
  private static final class TrustAll extends X509ExtendedTrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
