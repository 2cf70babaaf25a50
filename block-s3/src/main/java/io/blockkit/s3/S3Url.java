package io.blockkit.s3;

import io.blockkit.api.error.InvalidOptionException;

/**
 * {@code s3://BUCKET/KEY} split into its bucket and key. The key is taken as written (S3 keys
 * are plain strings: no percent-decoding, slashes are part of the key).
 */
record S3Url(String bucket, String key) {

  /**
   * @param path what follows {@code s3:} ({@code //bucket/dir/disk.vdi})
   * @throws InvalidOptionException when the bucket or the key is missing
   */
  static S3Url parse(String path) throws InvalidOptionException {
    String rest = path.startsWith("//") ? path.substring(2) : null;
    int slash = rest == null ? -1 : rest.indexOf('/');
    if (slash <= 0 || slash == rest.length() - 1) {
      throw new InvalidOptionException("'s3:" + path + "' is not an S3 object: expected"
          + " s3://BUCKET/KEY");
    }
    return new S3Url(rest.substring(0, slash), rest.substring(slash + 1));
  }

  @Override
  public String toString() {
    return "s3://" + bucket + "/" + key;
  }
}
