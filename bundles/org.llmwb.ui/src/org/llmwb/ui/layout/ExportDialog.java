package org.llmwb.ui.layout;

import java.util.Map;

import org.eclipse.jface.dialogs.Dialog;
import org.eclipse.jface.dialogs.IDialogConstants;
import org.eclipse.swt.SWT;
import org.eclipse.swt.custom.CTabFolder;
import org.eclipse.swt.custom.CTabItem;
import org.eclipse.swt.dnd.Clipboard;
import org.eclipse.swt.dnd.TextTransfer;
import org.eclipse.swt.dnd.Transfer;
import org.eclipse.swt.graphics.Point;
import org.eclipse.swt.layout.GridData;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Control;
import org.eclipse.swt.widgets.Shell;
import org.eclipse.swt.widgets.Text;

/** Shows the engine command lines and the Dynamo deployment, one tab each, with a Copy button. */
public class ExportDialog extends Dialog {
    private static final int COPY = IDialogConstants.CLIENT_ID + 1;
    private final String title;
    private final Map<String, String> texts;
    private CTabFolder tabs;

    public ExportDialog(Shell shell, String title, Map<String, String> texts) {
        super(shell);
        this.title = title;
        this.texts = texts;
        setShellStyle(getShellStyle() | SWT.RESIZE);
    }

    @Override
    protected void configureShell(Shell s) {
        super.configureShell(s);
        s.setText("Engine flags — " + title);
    }

    @Override
    protected Control createDialogArea(Composite parent) {
        Composite c = (Composite) super.createDialogArea(parent);
        tabs = new CTabFolder(c, SWT.BORDER);
        tabs.setLayoutData(new GridData(SWT.FILL, SWT.FILL, true, true));
        texts.forEach((k, v) -> {
            CTabItem item = new CTabItem(tabs, SWT.NONE);
            item.setText(k);
            Text t = new Text(tabs, SWT.MULTI | SWT.READ_ONLY | SWT.H_SCROLL | SWT.V_SCROLL);
            t.setFont(org.eclipse.jface.resource.JFaceResources.getTextFont());
            t.setText(v);
            item.setControl(t);
        });
        tabs.setSelection(0);
        return c;
    }

    @Override
    protected void createButtonsForButtonBar(Composite parent) {
        createButton(parent, COPY, "Copy", false);
        createButton(parent, IDialogConstants.OK_ID, IDialogConstants.CLOSE_LABEL, true);
    }

    @Override
    protected void buttonPressed(int id) {
        if (id == COPY) {
            Clipboard cb = new Clipboard(getShell().getDisplay());
            cb.setContents(new Object[] {selectedText()}, new Transfer[] {TextTransfer.getInstance()});
            cb.dispose();
            return;
        }
        super.buttonPressed(id);
    }

    @Override
    protected Point getInitialSize() {
        return new Point(980, 560);
    }

    public String selectedText() {
        return ((Text) tabs.getSelection().getControl()).getText();
    }

    public CTabFolder tabs() {
        return tabs;
    }
}
