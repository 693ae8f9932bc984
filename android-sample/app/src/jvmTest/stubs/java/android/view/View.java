package android.view;

/** JVM stand-in. */
public class View {
    public static final int VISIBLE = 0;
    public static final int GONE = 8;

    public interface OnClickListener {
        void onClick(View v);
    }

    private int visibility = VISIBLE;
    private boolean enabled = true;
    private int[] padding = new int[4];

    public void setOnClickListener(OnClickListener l) {}
    public int getVisibility() { return visibility; }
    public void setVisibility(int v) { visibility = v; }
    public boolean isEnabled() { return enabled; }
    public void setEnabled(boolean e) { enabled = e; }
    public int getPaddingLeft() { return padding[0]; }
    public int getPaddingTop() { return padding[1]; }
    public int getPaddingRight() { return padding[2]; }
    public int getPaddingBottom() { return padding[3]; }
    public void setPadding(int left, int top, int right, int bottom) { padding = new int[] {left, top, right, bottom}; }
}
