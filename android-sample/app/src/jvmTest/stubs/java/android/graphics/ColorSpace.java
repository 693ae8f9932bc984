package android.graphics;

/** JVM stand-in (API 26). */
public abstract class ColorSpace {
    public enum Named { SRGB, DISPLAY_P3 }

    private static final class Rgb extends ColorSpace {
        final Named name;
        Rgb(Named name) { this.name = name; }
    }

    public static ColorSpace get(Named name) { return new Rgb(name); }

    /** Stand-in only: whether this is sRGB. */
    public boolean isSrgb() { return ((Rgb) this).name == Named.SRGB; }
}
