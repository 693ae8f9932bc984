package android.widget;

/** JVM stand-in. */
public abstract class CompoundButton extends Button {
    public interface OnCheckedChangeListener {
        void onCheckedChanged(CompoundButton buttonView, boolean isChecked);
    }

    private boolean checked;

    public boolean isChecked() { return checked; }
    public void setChecked(boolean checked) { this.checked = checked; }
    public void setOnCheckedChangeListener(OnCheckedChangeListener listener) {}
}
