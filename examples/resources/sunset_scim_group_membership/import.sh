# A membership is imported by TARGET/GROUP_ID/USER_ID, the same string as its
# id: the target's name, the group's SCIM id and the user's SCIM id. The user
# must be a member now. Set identity_id in the configuration.
terraform import 'sunset_scim_group_membership.admins["alice"]' slack/7c1b5e2a-3f0d-4c8e-9a61-0d2f4b8e6a13/2819c223-7f76-453a-919d-413861904646
