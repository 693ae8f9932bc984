package androidx.appcompat.widget;

/** JVM stand-in. */
public class SwitchCompat extends android.widget.CompoundButton {}
