/** Names for the gateway's schema types (generated from its OpenAPI document). */
import type { components } from "./schema";

type S = components["schemas"];

export type User = S["UserOut"];
export type DemoUser = S["DemoUserOut"];
export type PublicConfig = S["PublicConfigOut"];
export type Session = S["SessionOut"];
export type SessionClose = S["SessionCloseOut"];
export type Escalation = S["EscalationOut"];
export type TeacherSession = S["TeacherSessionOut"];
export type Transcript = S["TranscriptOut"];
export type TranscriptTurn = S["TranscriptTurnOut"];
export type TeacherJoin = S["TeacherJoinOut"];
export type Deployments = S["DeploymentsOut"];
export type Deployment = S["DeploymentOut"];
export type AbReport = S["AbReportOut"];
export type VariantReport = S["VariantReportOut"];
export type Estimate = S["EstimateOut"];
export type TranscriptVerdict = S["TranscriptVerdictOut"];
export type Variant = "A" | "B";
export type Role = User["role"];
