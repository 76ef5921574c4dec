// The referral payload as the simulator serves it, typed from the vendor's definitions (swagger
// `Referral`, `Tag`,
// `SolutionTag`, `CustomerProfile`, `Member`... in microsoft/PowerPlatformConnectors
// connectors/PartnerCenterReferrals/apiDefinition.swagger.json; field list of partner-rest
// referral-resources.md).

interface Tag {
  id: string;
}

interface SolutionTag {
  id?: string | null;
  name?: string | null;
  /** None, Category or Name. */
  type?: string | null;
}

interface Member {
  firstName?: string | null;
  lastName?: string | null;
  phoneNumber?: string | null;
  email?: string | null;
  contactPreference?: { locale?: string | null; disableNotifications?: boolean | null } | null;
}

interface Address {
  addressLine1?: string | null;
  addressLine2?: string | null;
  city?: string | null;
  state?: string | null;
  postalCode?: string | null;
  country?: string | null;
  region?: string | null;
}

interface CustomerProfile {
  name?: string | null;
  address?: Address | null;
  size?: string | null;
  team?: Member[] | null;
  /** An array of `{id, profileType}`; one documented list example shows `{}`. */
  ids?: Array<{ id?: string | null; profileType?: string | null }> | Record<string, never> | null;
}

interface ReferralDetails {
  notes?: string | null;
  dealValue?: number | null;
  currency?: string | null;
  closingDateTime?: string | null;
  customerRequestedContact?: boolean | null;
  customerAction?: string | null;
  requirements?: {
    industries?: Tag[] | null;
    products?: Tag[] | null;
    services?: Tag[] | null;
    solutions?: SolutionTag[] | null;
  } | null;
}

/**
 * One referral as served (stored snapshots carry no `links`; unknown fields may be present on
 * raw-seeded ones).
 */
export interface Referral {
  [field: string]: unknown;
  id: string;
  engagementId?: string | null;
  organizationId?: string | null;
  organizationName?: string | null;
  name?: string | null;
  externalReferenceId?: string | null;
  createdDateTime: string;
  updatedDateTime: string;
  expirationDateTime?: string | null;
  acceptedDateTime?: string | null;
  status: string;
  substatus: string;
  statusReason?: string | null;
  type: string;
  qualification?: string | null;
  direction?: string | null;
  customerProfile?: CustomerProfile | null;
  consent?: Record<string, boolean | null> | null;
  details?: ReferralDetails | null;
  team?: Member[] | null;
  inviteContext?: {
    notes?: string | null;
    invitedBy?: { organizationId?: string | null; organizationName?: string | null } | null;
    assistanceRequestCode?: string | null;
  } | null;
  target?: Array<{ type?: string | null; id?: string | null }> | null;
  campaignId?: string | null;
  favorite?: boolean | null;
  salesStage?: string | null;
  eTag: string;
}
