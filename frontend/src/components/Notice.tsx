import type { ReactNode } from "react";

export function Notice({
  tone,
  title,
  children,
  testId,
  onDismiss,
}: {
  tone: "info" | "warn" | "error" | "success";
  title?: string;
  children?: ReactNode;
  testId?: string;
  onDismiss?: () => void;
}) {
  return (
    <div className={`notice notice-${tone}`} role={tone === "error" ? "alert" : "status"} data-testid={testId}>
      {title && <p className="notice-title">{title}</p>}
      {children}
      {onDismiss && (
        <button type="button" className="link-button notice-dismiss" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
