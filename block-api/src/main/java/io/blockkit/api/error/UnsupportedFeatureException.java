package io.blockkit.api.error;

/** The image or request uses something this driver does not implement (a version, a type, an operation). */
public class UnsupportedFeatureException extends BlockException {
  private static final long serialVersionUID = 1L;

  public UnsupportedFeatureException(String message) {
    super(message);
  }
}
