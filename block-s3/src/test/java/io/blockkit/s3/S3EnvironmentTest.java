package io.blockkit.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real environment of a process, as a user sets it: a child JVM finds the store and the keys
 * through the standard AWS variables, or the keys through a profile in a credentials file.
 */
class S3EnvironmentTest {
  private static S3Peer peer;

  @BeforeAll
  static void startPeer() throws Exception {
    peer = S3Peer.shared();
    peer.bucket("env");
    peer.put("env", "disk.img", new byte[4096]);
  }

  @Test
  void theStandardVariablesReachTheStore() throws Exception {
    assertEquals("format raw, 4096 bytes", child(peer.env()));
  }

  @Test
  void aProfileInACredentialsFileGivesTheKeys(@TempDir Path dir) throws Exception {
    Path credentials = dir.resolve("credentials");
    Files.writeString(credentials, "[other]\naws_access_key_id = nobody\n"
        + "aws_secret_access_key = nothing\n\n[blockkit]\naws_access_key_id = "
        + S3Peer.ACCESS_KEY + "\naws_secret_access_key = " + S3Peer.SECRET_KEY + "\n");
    Map<String, String> env = Map.of("AWS_ENDPOINT_URL", peer.endpoint().toString(),
        "AWS_REGION", "eu-west-1", "AWS_SHARED_CREDENTIALS_FILE", credentials.toString(),
        "AWS_CONFIG_FILE", dir.resolve("none").toString(), "AWS_PROFILE", "blockkit");
    assertEquals("format raw, 4096 bytes", child(env));
  }

  /** Runs {@link S3InfoMain} on s3://env/disk.img with exactly {@code env}; its last line. */
  private static String child(Map<String, String> env) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Daws.disableEc2Metadata=true", "-cp", System.getProperty("java.class.path"),
        S3InfoMain.class.getName(), "s3://env/disk.img")).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("AWS_"));
    pb.environment().put("HOME", Files.createTempDirectory("blockkit-home").toString());
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("the child JVM did not finish: " + out);
    }
    String[] lines = out.strip().split("\n");
    return lines[lines.length - 1].strip();
  }
}
